# Generates scipy-curve-fit.csv (python3 scipy-curve-fit.py scipy-curve-fit.csv): scipy's curve_fit (method 'lm', p0 (0.1, 0.1), no bounds), the
# fit Kurtkaya et al. make in plot_nopost.py, on binomial draws from their 100-seed class fractions (tasks/stm-authors-fractions.csv). Hand-run (scipy 1.10.1, numpy 1.24.2); Zoo does not need Python.
import numpy as np, warnings, sys
from scipy.optimize import curve_fit
warnings.filterwarnings('ignore')
def es(x,x0,a): return np.where(x<x0,0,1-np.exp(-a*(x-x0)))
def sig(x,x0,k): return 1/(1+np.exp(-k*(x-x0)))
import csv, os
root=os.path.join(os.path.dirname(os.path.abspath(__file__)),'..','..','..')
rows=list(csv.DictReader(open(os.path.join(root,'tasks','stm-authors-fractions.csv'))))
lrs=sorted(set(float(r['lr']) for r in rows),reverse=True); cats={'no_solution':0,'lc':1,'sp':2}
F=np.zeros((30,3,21))
for r in rows: F[lrs.index(float(r['lr'])),cats[r['category']],:]=[float(r['T%d'%t]) for t in range(0,401,20)]
rng=np.random.default_rng(20261204)
out=open(sys.argv[1],'w'); out.write('model,delays_ms,fraction,x0,rate,converged\n')
def emit(name,f,cat,D,seeds,count):
    done=0
    while done<count:
        k=rng.integers(30); y=rng.binomial(seeds,F[k,cat,(D//20).astype(int)])/seeds
        if y.max()<0.1: continue
        try: p=curve_fit(f,D,y,p0=[0.1,0.1])[0]; conv='yes'
        except RuntimeError: p=[float('nan')]*2; conv='no'
        out.write('%s,%s,%s,%r,%r,%s\n'%(name,' '.join('%g'%d for d in D),' '.join(repr(float(v)) for v in y),float(p[0]),float(p[1]),conv)); done+=1
emit('onset',es,0,np.arange(0,401,40.0),8,40)
emit('onset',es,0,np.arange(0,401,20.0),100,20)
emit('logistic',sig,2,np.arange(0,401,40.0),32,20)
emit('logistic',sig,2,np.arange(0,401,40.0),8,20)
